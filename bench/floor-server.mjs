// The floor of every HTTP row: a bare node:http server that reads a JSON body
// and answers a job-sized JSON record, nothing else. Run by bench/run.mjs in
// its own event loop's place (the host's): `startFloor()` → { url, close }.
import http from 'node:http';

/** A record shaped like a completed job's answer, so the bytes on the wire are alike. */
const answer = (jobId) =>
  JSON.stringify({
    job_id: jobId,
    function_id: 'floor',
    function_name: 'floor',
    function_version: 1,
    status: 'completed',
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    result: { ok: true },
    output_files: [],
    start: 'warm',
  });

export function startFloor() {
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString());
      const body = answer(String(++n));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
