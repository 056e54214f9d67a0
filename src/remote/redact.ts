/** Requests as they may be logged, rendered or journalled: the account password becomes [REDACTED]. */
import { Secret } from '../util/secret.js';
import type { RemoteRequest } from './protocol.js';
import type { OutgoingRequest } from './invocation.js';

export function redactRequest(request: RemoteRequest | OutgoingRequest): RemoteRequest {
  const account = request.desired?.account;
  if (!account || account.password === undefined) return structuredClone(request as RemoteRequest);
  const { desired, ...rest } = request;
  return structuredClone({
    ...(rest as Omit<RemoteRequest, 'desired'>),
    desired: { ...desired, account: { name: account.name, password: Secret.redacted } },
  });
}
