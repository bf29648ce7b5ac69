// An SES receipt-rule function with callbacks, module-level env and callbackWaitsForEmptyEventLoop off.
const region = process.env.AWS_REGION;
const keepAlive = setInterval(() => {}, 60_000); // a connection pool would hold the loop like this

exports.handler = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  const mail = event.Records[0].ses.mail;
  console.log(`${region}: mail from ${mail.source}: ${mail.commonHeaders.subject}`);
  if (!mail.destination.every((to) => to.endsWith('@example.org'))) {
    callback(null, { disposition: 'STOP_RULE' });
    return;
  }
  callback(null, { disposition: 'CONTINUE', pool: typeof keepAlive });
};
