// Runs once in jest's main process.
//
// @roamhq/wrtc 0.10 can crash (SIGSEGV, or "Cannot create a handle without a
// HandleScope") when Node runs native finalizers while tearing the process
// down after the event loop drained. Leaving through process.exit() skips that
// teardown; every result has been reported by then. Test workers get the same
// guard from spec/helpers/workerExit.cjs.
module.exports = async () => {
  process.once('beforeExit', (code) => process.exit(code));
};
