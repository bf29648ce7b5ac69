// A Node handler: gets the event (the run's payload) and a context, returns JSON.
export async function handler(event, context) {
  const name = event.name ?? 'World';
  return { message: `Hello, ${name}!`, runtime: `node ${process.version}`, job_id: context.job_id };
}
