// A second consumer of the order.v1 contract, in Node.js with the AWS SDK for JavaScript v3.
//
// The web tier publishes order.v1 messages (contract/order.v1.schema.json) to lab01-orders.
// This consumer is what another team, in another language, would write against the same
// contract: it fulfils each order through the downstream service, exactly like worker.py.
//
// Run by the lab as `node node/consumer.mjs` with DOWNSTREAM_URL and the AWS settings in the
// environment. The SDK v3 reads AWS_ENDPOINT_URL (and AWS_REGION) by itself since v3.428;
// with an older SDK pass `endpoint: process.env.AWS_ENDPOINT_URL` to the client.
// Install the SDK once: `npm ci --prefix node` (the lab does it for you when it can).

import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

const PREFIX = process.env.TUTOR_LAB_PREFIX ?? "lab01-";
const DOWNSTREAM_URL = process.env.DOWNSTREAM_URL ?? "http://127.0.0.1:8702";
const DOWNSTREAM_TIMEOUT_MS = 1000; // lab clock: 1 s here = 10 s in production

const sqs = new SQSClient({});

// Parse one message body as order.v1; throw when it does not follow the contract.
function parseOrder(body) {
  const order = JSON.parse(body);
  if (order.contract !== "order.v1" || typeof order.order_id !== "string") {
    throw new Error(`not an order.v1 message: ${body.slice(0, 80)}`);
  }
  return order;
}

// Ask downstream to fulfil the order; true when it confirmed.
async function fulfil(order) {
  // TODO: POST the order as JSON to `${DOWNSTREAM_URL}/fulfil` (fetch is built into
  //       Node 18+), bounded to DOWNSTREAM_TIMEOUT_MS with an AbortController whose
  //       abort a setTimeout calls (clear it afterwards). Not AbortSignal.timeout(): its
  //       timer does not keep Node.js running, and a fetch left waiting on it alone lets
  //       Node.js exit with code 0 mid-loop. Which header makes a redelivery harmless,
  //       and which order.v1 field is its value?
  return false;
}

async function main() {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: `${PREFIX}orders` }));
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
    }));
    for (const message of Messages) {
      const order = parseOrder(message.Body);
      // TODO: fulfil the order, and delete the message (DeleteMessageCommand with its
      //       ReceiptHandle) only when downstream confirmed.
      console.log(`received ${order.order_id}`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
