export {
  type CallbackUrlPolicy,
  checkAddress,
  checkCallbackUrl,
  guardedLookup,
  redactCallbackUrl,
} from './callback-url-guard.js';
export { type PostCallbackOptions, type PostCallbackResult, postCallback } from './post-callback.js';
export {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  callbackBody,
  signBody,
  slackMessage,
  verifySignature,
} from './webhook-message.js';
export { type DeliveryOutcome, WEBHOOK_OUTBOX_PREFIX, type WebhookEntry, WebhookOutbox } from './webhook-outbox.js';
