// twin: none (which of a bundle's stages the browser app opens; the Python runtime opens each on first use)
// The stages the browser runs: the task model, the nail detector, the face detector's three nets (face mode),
// a face gate's (skin mode) and the mouth check (lips mode). Named, never "every stage": a bundle may carry
// stages the browser must not download twice, such as the face bundle's 14 MB `compat` copy of the model for the old contract.
export function browserStages(manifest) {
  const stages = ['model', 'detector', 'detector_pnet', 'detector_rnet', 'detector_onet', 'lip_check', ...Object.values(manifest.face_gate?.stages ?? {})];
  return [...new Set(stages)].filter((stage) => manifest[stage]?.file);
}
