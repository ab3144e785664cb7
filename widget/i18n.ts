/**
 * Every user-visible string, per language. English is complete by type; another language may
 * leave a string out and falls back to English. Add a language by adding a table.
 */
const en = {
  join: 'Join call',
  joinAs: 'Your name',
  rejoin: 'Rejoin',
  retry: 'Try again',
  hangup: 'Leave call',
  muteMicrophone: 'Mute microphone',
  stopCamera: 'Turn off camera',
  shareScreen: 'Share screen',
  fullscreen: 'Full screen',
  controls: 'Call controls',
  close: 'Close',
  pictureInPicture: 'Picture in picture',
  chat: 'Chat',
  chatUnread: 'Chat, {n} unread',
  newMessage: 'New message from {name}',
  settings: 'Devices',
  send: 'Send',
  messagePlaceholder: 'Message',
  camera: 'Camera',
  microphone: 'Microphone',
  speaker: 'Speaker',
  micLevel: 'Microphone level',
  you: 'You',
  them: 'Them',
  noRoom: 'No room was given to this call.',
  lobbyTitle: 'Ready to join?',
  joining: 'Joining…',
  waiting: 'Waiting for the other person to join',
  copyLink: 'Copy invite link',
  copied: 'Link copied',
  copyFailed: 'Could not copy: copy the link below',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  peerAway: 'The other person dropped out. Waiting for them to come back…',
  ended: 'You left the call.',
  peerLeft: 'The other person left.',
  muted: 'Muted',
  cameraIsOff: 'Camera off',
  enableSound: 'Click to enable sound',
  qualityGood: 'Good connection',
  qualityFair: 'Fair connection',
  qualityPoor: 'Poor connection',
  'error.media-denied': 'Camera and microphone are blocked. Allow them from the icon in the address bar, then rejoin. You can still see and hear the other person.',
  'error.media-unavailable': 'No camera or microphone could be opened: it may be missing or in use by another app.',
  'error.room-full': 'This call already has two people. Try again once one of them has left, or start a new call.',
  'error.unauthorized': 'This link or token is not valid (any more). Ask for a new link.',
  'error.server-unreachable': 'Cannot reach the call server. Check your connection and try again.',
  'error.unsupported-protocol': 'This page’s call widget and the call server are not compatible. Reload the page.',
  'error.server-busy': 'The call server is busy. Try again in a moment.',
  'error.session-replaced': 'The call continued in another tab or window.',
  'error.ice-failed': 'No network path to the other person (a firewall may block calls). Try again, or another network.',
  'error.timeout': 'That took too long. Try again.',
  'error.invalid-room': 'This call link has an invalid room name (use letters, digits, - and _).',
  'error.server-closed': 'The call server closed the connection unexpectedly. Rejoin; if it happens again, report it.',
  'error.message-too-long': 'That message is too long to send.',
  'error.not-joined': 'Nobody is here yet to receive your message.',
  'error.unknown': 'Something went wrong. Try again.',
};

export type Strings = typeof en;
export type StringKey = keyof Strings;

const zhCN: Partial<Strings> = {
  join: '加入通话',
  joinAs: '你的名字',
  rejoin: '重新加入',
  retry: '重试',
  hangup: '离开通话',
  muteMicrophone: '麦克风静音',
  stopCamera: '关闭摄像头',
  shareScreen: '共享屏幕',
  fullscreen: '全屏',
  controls: '通话控制',
  close: '关闭',
  pictureInPicture: '画中画',
  chat: '聊天',
  chatUnread: '聊天，{n} 条未读',
  newMessage: '{name} 发来一条新消息',
  settings: '设备',
  send: '发送',
  messagePlaceholder: '消息',
  camera: '摄像头',
  microphone: '麦克风',
  speaker: '扬声器',
  micLevel: '麦克风音量',
  you: '你',
  them: '对方',
  noRoom: '此通话没有指定房间。',
  lobbyTitle: '准备好加入了吗？',
  joining: '正在加入…',
  waiting: '正在等待对方加入',
  copyLink: '复制邀请链接',
  copied: '链接已复制',
  copyFailed: '无法复制：请手动复制下面的链接',
  connecting: '正在连接…',
  connected: '已连接',
  reconnecting: '正在重新连接…',
  peerAway: '对方已断开，正在等待对方回来…',
  ended: '你已离开通话。',
  peerLeft: '对方已离开。',
  muted: '已静音',
  cameraIsOff: '摄像头已关闭',
  enableSound: '点击开启声音',
  qualityGood: '连接良好',
  qualityFair: '连接一般',
  qualityPoor: '连接较差',
  'error.media-denied': '摄像头和麦克风被阻止。请在地址栏的图标中允许访问，然后重新加入。你仍然可以看到和听到对方。',
  'error.media-unavailable': '无法打开摄像头或麦克风：设备可能不存在或正被其他应用使用。',
  'error.room-full': '此通话已有两人。请等其中一人离开后重试，或发起新的通话。',
  'error.unauthorized': '此链接或令牌无效（或已过期）。请索取新的链接。',
  'error.server-unreachable': '无法连接到通话服务器。请检查网络后重试。',
  'error.unsupported-protocol': '此页面的通话组件与服务器版本不兼容。请刷新页面。',
  'error.server-busy': '通话服务器繁忙。请稍后再试。',
  'error.session-replaced': '通话已在另一个标签页或窗口中继续。',
  'error.ice-failed': '无法与对方建立网络连接（可能被防火墙阻止）。请重试或换一个网络。',
  'error.timeout': '操作超时。请重试。',
  'error.invalid-room': '此通话链接的房间名无效（请使用字母、数字、- 和 _）。',
  'error.server-closed': '通话服务器意外关闭了连接。请重新加入；如果再次发生，请报告此问题。',
  'error.message-too-long': '消息太长，无法发送。',
  'error.not-joined': '对方还未加入，消息无法发送。',
  'error.unknown': '出了点问题。请重试。',
};

const TABLES: Record<string, Partial<Strings>> = { en, 'zh-CN': zhCN };

/**
 * Languages with a table. Every other `zh-*` tag (including zh-TW and zh-HK, until a
 * Traditional table exists) uses zh-CN, which those readers understand better than English.
 */
export const LANGUAGES = Object.keys(TABLES);

/** The table for a BCP 47 tag: exact, then by primary language, then English. */
export function resolveLanguage(tag: string | null | undefined): string {
  if (!tag) return 'en';
  if (TABLES[tag]) return tag;
  const primary = tag.toLowerCase().split('-')[0];
  if (primary === 'zh') return 'zh-CN';
  return LANGUAGES.find((lang) => lang.toLowerCase().split('-')[0] === primary) ?? 'en';
}

/** A translator for one language. */
export function translator(lang: string): (key: StringKey) => string {
  const table = TABLES[resolveLanguage(lang)] ?? en;
  return (key) => table[key] ?? en[key];
}
