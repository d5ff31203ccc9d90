// Loads the enclave's wasm in pages Trunk does not process (dialog.html). The wasm's start
// function reads <html data-page> to decide what to run.
import init from './enclave.js';
await init({ module_or_path: new URL('./enclave_bg.wasm', import.meta.url) });
