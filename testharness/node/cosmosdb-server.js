// Starts @vercel/cosmosdb-server on HTTPS with a certificate the test harness made
// (the package's own certificate expired in 2021 and names no host), and corrects one
// answer: a point read of a missing item answers 404 NotFound, as Cosmos DB documents
// (https://learn.microsoft.com/rest/api/cosmos-db/get-a-document), where the stand-in
// throws and answers 500; and lets a transactional batch name its partition key once,
// in the x-ms-documentdb-partitionkey header, as the official SDKs send it (the
// stand-in reads it from each operation). The stand-in applies a batch's operations
// one by one, not atomically.
//
// Usage: node cosmosdb-server.js PORT CERT_FILE KEY_FILE
"use strict";
const fs = require("fs");
const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");

const original = readDocument.default;
readDocument.default = async (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  if (collection.read()) {
    const header = req.headers["x-ms-documentdb-partitionkey"];
    let partition;
    try {
      const parsed = JSON.parse(header);
      partition = Array.isArray(parsed) ? parsed[0] : parsed;
    } catch (err) {
      partition = undefined;
    }
    if (partition !== undefined && !collection.document(params.docId, partition).read()) {
      res.statusCode = 404;
      return {
        code: "NotFound",
        message: "Entity with the specified id does not exist in the system.",
      };
    }
  }
  return original(account, req, res, params);
};

const json = require("@vercel/cosmosdb-server/lib/json");

const readJson = json.default;
json.default = async (req) => {
  const body = await readJson(req);
  const partition = req.headers["x-ms-documentdb-partitionkey"];
  if (req.headers["x-ms-cosmos-is-batch-request"] && Array.isArray(body) && partition) {
    for (const op of body) {
      if (op && typeof op === "object" && op.partitionKey === undefined) {
        op.partitionKey = partition;
      }
    }
  }
  return body;
};

const { createHttpsServer } = require("@vercel/cosmosdb-server");
const [port, certFile, keyFile] = process.argv.slice(2);
const server = createHttpsServer({
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  minVersion: "TLSv1.2",
  keepAlive: true,
});
server.keepAliveTimeout = 60000;
server.listen(parseInt(port, 10), "127.0.0.1", () => {
  console.log(`ready on 127.0.0.1:${port}`);
});
