import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { connect as natsConnect, headers as natsHeaders, StringCodec } from 'nats';
import { consume, createTracing, instrument, produce, type Tracing } from '../../src/sdk/index.js';
import { OtlpReceiver, requireServer, type ReceivedSpan } from './helpers.js';

// Context crosses real brokers on this machine: a RabbitMQ queue (amqplib)
// and a NATS subject, from the producer's span to the consumer's.

function assertProducerConsumer(spans: ReceivedSpan[], destination: string, system: string): void {
  const producer = spans.find((s) => s.kind === 'PRODUCER');
  const consumer = spans.find((s) => s.kind === 'CONSUMER');
  const parent = spans.find((s) => s.name === 'checkout');
  assert.ok(producer && consumer && parent, spans.map((s) => `${s.kind} ${s.name}`).join(', '));
  assert.equal(producer.name, `publish ${destination}`);
  assert.equal(producer.parentSpanId, parent.spanId);
  assert.equal(consumer.name, `process ${destination}`);
  assert.equal(consumer.traceId, producer.traceId, 'the consumer joins the producer trace');
  assert.equal(consumer.parentSpanId, producer.spanId, 'the consumer span is a child of the producer span');
  for (const s of [producer, consumer]) {
    assert.equal(s.attributes['messaging.system'], system);
    assert.equal(s.attributes['messaging.destination.name'], destination);
  }
  assert.equal(producer.attributes['messaging.operation.type'], 'send');
  assert.equal(consumer.attributes['messaging.operation.type'], 'process');
}

describe('messaging over real brokers', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  before(async () => {
    receiver = await OtlpReceiver.start();
    tracing = createTracing(
      { enabled: true, serviceName: 'messaging', exporters: [{ type: 'otlp-http', endpoint: receiver.url, queue: { scheduledDelayMillis: 10 } }] },
      { env: false },
    );
  });
  after(async () => {
    await tracing.shutdown();
    await receiver.close();
  });

  test('RabbitMQ (amqplib): publish to a queue, consume, the consumer span is the producer span\'s child', async (t) => {
    if (!(await requireServer(t, 'RabbitMQ', 5672))) return;
    receiver.clear();
    const connection = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
    const queue = `wiretrace-sdk-${randomUUID()}`;
    try {
      const channel = await connection.createChannel();
      await channel.assertQueue(queue, { exclusive: true, autoDelete: true });
      const received = new Promise<string>((resolve) => {
        void channel.consume(queue, (msg) => {
          if (!msg) return;
          consume(queue, msg.properties.headers, () => {
            channel.ack(msg);
            resolve(msg.content.toString());
          }, { system: 'rabbitmq' });
        });
      });
      instrument('checkout', () => {
        const headers: Record<string, unknown> = {};
        produce(queue, headers, () => channel.sendToQueue(queue, Buffer.from('order 17'), { headers }), { system: 'rabbitmq' });
      });
      assert.equal(await received, 'order 17');
      await tracing.forceFlush();
      assertProducerConsumer(await receiver.waitFor((s) => s.length >= 3), queue, 'rabbitmq');
      await channel.close();
    } finally {
      await connection.close();
    }
  });

  test('NATS: publish with message headers on a subject, the subscriber\'s span is the producer span\'s child', async (t) => {
    if (!(await requireServer(t, 'NATS', 4222))) return;
    receiver.clear();
    const nc = await natsConnect({ servers: '127.0.0.1:4222' });
    const subject = `wiretrace.sdk.${randomUUID()}`;
    const codec = StringCodec();
    try {
      const sub = nc.subscribe(subject, { max: 1 });
      const received = (async () => {
        for await (const msg of sub) {
          return consume(subject, msg.headers, () => codec.decode(msg.data), { system: 'nats' });
        }
        return undefined;
      })();
      instrument('checkout', () => {
        const h = natsHeaders();
        produce(subject, h, () => nc.publish(subject, codec.encode('order 18'), { headers: h }), { system: 'nats' });
      });
      assert.equal(await received, 'order 18');
      await tracing.forceFlush();
      assertProducerConsumer(await receiver.waitFor((s) => s.length >= 3), subject, 'nats');
    } finally {
      await nc.drain();
    }
  });
});
