/**
 * rxpeer/bridge: the Unity WebGL bridge. `PeerAdapter` and `PeerClientProvider`
 * under the names app code written for the Extreal package expects, and
 * rxpeer's own implementation of the Web.Common helper contract.
 */
export {
  BRIDGE,
  PeerAdapter,
  parseWebGLPeerConfig,
  type PeerAdapterOptions,
  type PeerClientProvider,
  type WebGLPeerConfigJson,
} from './PeerAdapter.js';
export {
  UnityBridgeRuntime,
  addAction,
  addFunction,
  callback,
  defaultUnityBridgeRuntime,
  installUnityBinding,
  webCommonHelper,
  type UnityBinding,
  type WebCommonAction,
  type WebCommonFunction,
  type WebCommonHelper,
} from './webCommon.js';
export type { PeerClient } from '../client/PeerClient.js';
