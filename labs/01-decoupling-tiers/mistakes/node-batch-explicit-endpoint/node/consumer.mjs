// order.v1 consumer: fulfil a batch in order, delete the confirmed part in one call.
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

const PREFIX = process.env.TUTOR_LAB_PREFIX ?? "lab01-";
const DOWNSTREAM_URL = process.env.DOWNSTREAM_URL ?? "http://127.0.0.1:8702";
const sqs = new SQSClient({
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: process.env.AWS_REGION ?? "us-east-1",
});

async function fulfil(order) {
  const abort = new AbortController();
  const timeout = setTimeout(() => abort.abort(), 1000);
  try {
    const response = await fetch(`${DOWNSTREAM_URL}/fulfil`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": order.order_id },
      body: JSON.stringify(order),
      signal: abort.signal,
    });
    return response.status === 200;
  } catch (err) {
    console.log(`not confirmed: ${err.name}`);
    return false;
  } finally {
    clearTimeout(timeout);
  }
}

const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: `${PREFIX}orders` }));
for (;;) {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({
    QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
  }));
  const confirmed = [];
  for (const message of Messages) {
    if (!(await fulfil(JSON.parse(message.Body)))) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      break;
    }
    confirmed.push(message);
  }
  if (confirmed.length > 0) {
    await sqs.send(new DeleteMessageBatchCommand({
      QueueUrl,
      Entries: confirmed.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
    }));
  }
}
