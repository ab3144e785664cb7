/** The Chromium binary: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export declare const CHROMIUM_PATH: string;
/** Auto-accepts camera/microphone prompts; left out to test a denial. */
export declare const FAKE_UI_ARG: string;
/** Headless, no sandbox, fake camera and microphone, no background traffic, WebRTC on loopback. */
export declare const CHROMIUM_ARGS: readonly string[];
/** CHROMIUM_ARGS, without FAKE_UI_ARG when `fakeUi` is false (so a media prompt is denied). */
export declare function chromiumArgs(options?: { fakeUi?: boolean }): string[];
