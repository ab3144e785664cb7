/**
 * What the page's permissions policy allows this document. Inside a cross-origin `<iframe>`
 * without `allow="camera; microphone; display-capture; fullscreen"`, the camera and the
 * microphone are blocked whatever the visitor clicks: the site owner has to change the tag.
 * Chromium exposes the policy (`document.featurePolicy`); elsewhere everything counts as allowed.
 */
type Policy = { allowsFeature(feature: string): boolean };

export type FrameFeature = 'camera' | 'microphone' | 'display-capture' | 'fullscreen';

export function allowedHere(feature: FrameFeature): boolean {
  const doc = document as Document & { permissionsPolicy?: Policy; featurePolicy?: Policy };
  const policy = doc.permissionsPolicy ?? doc.featurePolicy;
  try {
    return policy ? policy.allowsFeature(feature) : true;
  } catch {
    return true;
  }
}

/** True when this document is in a frame whose policy blocks the camera or the microphone. */
export function mediaBlockedByFrame(audioOnly: boolean): boolean {
  return window.parent !== window && (!allowedHere('microphone') || (!audioOnly && !allowedHere('camera')));
}
