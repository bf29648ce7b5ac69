// Runs the local SQS server of @nanogrid/queue-sqs for docker-compose (port 9324).
// Queue URLs it hands out use PUBLIC_HOST, the name the other services reach it by.
import { startLocalSqs } from '@nanogrid/queue-sqs/local';

const sqs = await startLocalSqs({
  host: '0.0.0.0',
  port: Number(process.env.PORT ?? 9324),
  publicHost: process.env.PUBLIC_HOST ?? 'sqs',
});
console.log(`local SQS listening, queue URLs on ${sqs.endpoint}`);
process.on('SIGTERM', () => void sqs.stop().then(() => process.exit(0)));
