// The pre-Node-4 style: no callback parameter, the function ends through context.succeed / context.fail.
var https = require('https');

exports.handler = (event, context) => {
  console.log('Received event:', JSON.stringify(event.detail));
  setTimeout(() => {
    if (event.source !== 'aws.events') return context.fail(new Error('unexpected source ' + event.source));
    context.succeed({ ran: event['detail-type'], at: event.time, agent: typeof https.request });
  }, 20);
};
