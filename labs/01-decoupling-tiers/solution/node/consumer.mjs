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
  // The timeout is a plain setTimeout, not AbortSignal.timeout(): that one's timer does
  // not keep Node.js running, and a fetch whose connection downstream reset can be left
  // waiting on that timer alone. Node.js then sees nothing left to do and exits with
  // code 0 in the middle of the loop. A setTimeout keeps it alive until the abort.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("downstream timed out")),
    DOWNSTREAM_TIMEOUT_MS);
  try {
    // The order id is the idempotency key, as in worker.py: same contract, same rule.
    const response = await fetch(`${DOWNSTREAM_URL}/fulfil`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": order.order_id },
      body: JSON.stringify(order),
      signal: controller.signal,
    });
    return response.ok;
  } catch (err) {
    console.log(`downstream failed: ${err.message}`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: `${PREFIX}orders` }));
  for (;;) {
    let Messages = [];
    try {
      ({ Messages = [] } = await sqs.send(new ReceiveMessageCommand({
        QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
      })));
    } catch (err) {
      // SQS slow or away for a moment (a busy machine): try again, do not die
      console.log(`receive failed: ${err.message}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    for (const message of Messages) {
      let order;
      try {
        order = parseOrder(message.Body);
      } catch (err) {
        // not our contract: leave it (a redrive policy would park it in a DLQ)
        console.log(`skipping a message: ${err.message}`);
        continue;
      }
      if (!(await fulfil(order))) {
        // not deleted: SQS redelivers it after the visibility timeout
        await new Promise((resolve) => setTimeout(resolve, 500));
        break;
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
