/**
 * The level (0–1) of a stream's audio, sampled on a timer rather than animation frames, so
 * it keeps working in a background tab. Used by the lobby's meter and the speaking event.
 */
export function watchLevel(stream: MediaStream, onLevel: (level: number) => void, everyMs = 80): () => void {
  if (stream.getAudioTracks().length === 0 || typeof AudioContext === 'undefined') return () => undefined;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  // ~43 ms of sound per sample at 48 kHz: short sounds between two samples are still caught half the time.
  analyser.fftSize = 2048;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128));
    onLevel(Math.min(1, peak / 64));
  }, everyMs);
  return () => {
    clearInterval(timer);
    void context.close().catch(() => undefined);
  };
}
