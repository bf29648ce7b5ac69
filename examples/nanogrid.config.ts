// An all-in-one NanoGrid on the embedded defaults, with every common knob shown.
// Copy it next to where you run `nanogrid start`; every field is optional.
// For Redis / SQS / S3 / GCS see examples/nanogrid.aws-gcp.config.ts and docs/distributed.md.
import { defineConfig } from '@nanogrid/host';

export default defineConfig({
  role: 'all', // 'controller' | 'worker' | 'all'
  port: 8080,
  dataDir: '.nanogrid', // filesystem storage and work files of the embedded defaults
  sandbox: 'auto', // Docker when an engine with the images answers, else host processes in bubblewrap; neither: no start
  // ai: { endpoint: 'http://10.0.0.5:11434' }, // private Ollama: AI_ENDPOINT in every function
  defaultNetwork: 'none',
  worker: { concurrency: 2 },
  http: {
    apiKeys: [], // e.g. [process.env.NANOGRID_API_KEY!] to require `Authorization: Bearer …`
    rateLimit: { max: 1000, windowMs: 5 * 60_000 },
    bodyLimitBytes: 50 * 1024 * 1024,
  },
  limits: {
    defaultTimeoutSec: 300,
    maxTimeoutSec: 3600,
    defaultMemoryMb: 512,
    cpus: 0.5,
  },
  jobTtlSec: 24 * 3600,
  // Completion webhooks (callback_url on /run or at deploy): signing key and private networks callbacks may reach.
  webhooks: { secret: process.env.NANOGRID_WEBHOOK_SECRET, allowNetworks: [] },
});
