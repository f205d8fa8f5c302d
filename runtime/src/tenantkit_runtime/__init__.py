"""tenantkit on AWS Lambda: handlers, authorizer, packaging and the local server."""
