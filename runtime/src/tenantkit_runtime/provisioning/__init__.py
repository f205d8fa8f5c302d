"""The operator's tenant provisioning: create, suspend, resume (``tenantkit tenant ...``)."""

from tenantkit_runtime.provisioning.operations import resume, suspend

__all__ = ["resume", "suspend"]
