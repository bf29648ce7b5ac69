export { type CallbackUrlPolicy, checkAddress, checkCallbackUrl, guardedLookup } from './callback-url-guard.js';
export { type PostCallbackOptions, type PostCallbackResult, postCallback } from './post-callback.js';
export {
  type CallbackFormat,
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  callbackBody,
  signBody,
  slackMessage,
  verifySignature,
} from './webhook-message.js';
