/**
 * The demo's own words, zh-CN and en (the call screen's come from the kit). The language is the app's
 * choice, kept in globalData and storage; every page reads it from here, titles included.
 */
export type DemoLang = 'zh-CN' | 'en';

export interface DemoLabels {
  loginTitle: string;
  account: string;
  server: string;
  serverHint: string;
  login: string;
  enterAccount: string;
  language: string;
  dialTitle: string;
  loggedInAs: string;
  callee: string;
  videoCall: string;
  audioCall: string;
  logout: string;
  enterCallee: string;
  disconnected: string;
  leaveCall: string;
  calleeHint: string;
  badAccount: string;
  tooManyCallees: string;
  rooms: string;
  roomTitle: string;
  back: string;
  roomName: string;
  roomNameHint: string;
  video: string;
  videoHint: string;
  voiceHint: string;
  createRoom: string;
  joinRoom: string;
  enterRoomName: string;
  badRoomName: string;
  roomTaken: string;
  noSuchRoom: string;
  roomFull: string;
  callFull: string;
  alreadyInCall: string;
  notOnline: string;
  live: string;
  liveTitle: string;
  goLiveTitle: string;
  goLive: string;
  refresh: string;
  noLive: string;
  onStage: string;
  watchingCount: string;
  liveName: string;
  liveNameHint: string;
  splitMode: string;
  splitTile: string;
  splitFloatBottom: string;
  splitFloatTop: string;
  splitCutTile: string;
  splitAudio: string;
  approval: string;
  approvalHint: string;
  notLive: string;
  leaveLive: string;
}

const LABELS: Record<DemoLang, DemoLabels> = {
  'zh-CN': {
    loginTitle: '登录',
    account: '账号',
    server: '服务器',
    serverHint: '在手机上，请填写运行服务器的电脑的局域网地址。',
    login: '登录',
    enterAccount: '请输入账号',
    language: 'English',
    dialTitle: '拨号',
    loggedInAs: '已登录：{account}。来电会在这里打开。',
    callee: '对方账号',
    videoCall: '视频通话',
    audioCall: '语音通话',
    logout: '退出登录',
    enterCallee: '请输入其他人的账号',
    disconnected: '与服务器的连接已断开',
    leaveCall: '离开此页面将挂断通话。',
    calleeHint: '填写一个账号发起通话；填写多个账号（用逗号或空格分隔）发起多人通话。',
    badAccount: '账号“{account}”无效：只能包含字母、数字和 _ . @ -',
    tooManyCallees: '多人通话最多呼叫 {max} 人',
    rooms: '房间',
    roomTitle: '房间',
    back: '返回',
    roomName: '房间名',
    roomNameHint: '字母、数字和 _ . -，最多 64 个字符。同一房间名的人会进入同一个房间。',
    video: '视频',
    videoHint: '开启摄像头进入房间',
    voiceHint: '只用麦克风进入房间',
    createRoom: '创建房间',
    joinRoom: '加入房间',
    enterRoomName: '请输入房间名',
    badRoomName: '房间名只能包含字母、数字和 _ . -，最多 64 个字符',
    roomTaken: '这个房间名已被占用：请直接加入，或换一个名字',
    noSuchRoom: '没有这个房间：请先创建',
    roomFull: '房间已满',
    callFull: '人数超过了一次通话的上限',
    alreadyInCall: '你已经在通话中',
    notOnline: '有被呼叫的账号不在线',
    live: '直播',
    liveTitle: '直播',
    goLiveTitle: '开播',
    goLive: '开始直播',
    refresh: '刷新',
    noLive: '现在没有直播。开一场吧！',
    onStage: '{count} 人在麦上',
    watchingCount: '{count} 人观看',
    liveName: '直播间名称',
    liveNameHint: '字母、数字和 _ . -，最多 64 个字符。观众在直播列表里看到它。',
    splitMode: '合流布局',
    splitTile: '宫格',
    splitFloatBottom: '主播全屏，嘉宾小窗在下',
    splitFloatTop: '主播全屏，嘉宾小窗在上',
    splitCutTile: '宫格（裁剪铺满）',
    splitAudio: '纯音频',
    approval: '连麦需要同意',
    approvalHint: '观众申请或被邀请后才能上麦',
    notLive: '这个直播已经结束了',
    leaveLive: '离开此页面将退出直播。',
  },
  en: {
    loginTitle: 'Log in',
    account: 'Account',
    server: 'Server',
    serverHint: 'On a phone, use the LAN address of the machine running the server.',
    login: 'Log in',
    enterAccount: 'Enter an account',
    language: '中文',
    dialTitle: 'Dial',
    loggedInAs: 'Logged in as {account}. Incoming calls open here.',
    callee: 'Callee',
    videoCall: 'Video call',
    audioCall: 'Voice call',
    logout: 'Log out',
    enterCallee: 'Enter someone else’s account',
    disconnected: 'Disconnected from the server',
    leaveCall: 'Leaving this page hangs up the call.',
    calleeHint: 'One account for a call; several, separated by commas or spaces, for a group call.',
    badAccount: '“{account}” is not an account: use letters, digits and _ . @ -',
    tooManyCallees: 'A group call rings at most {max} people',
    rooms: 'Rooms',
    roomTitle: 'Room',
    back: 'Back',
    roomName: 'Room name',
    roomNameHint:
      'Letters, digits and _ . -, up to 64 characters. Everyone using the same name meets in one room.',
    video: 'Video',
    videoHint: 'Enter the room with your camera on',
    voiceHint: 'Enter the room with your microphone only',
    createRoom: 'Create room',
    joinRoom: 'Join room',
    enterRoomName: 'Enter a room name',
    badRoomName: 'A room name may only use letters, digits and _ . -, up to 64 characters',
    roomTaken: 'This room name is taken: join that room, or choose another name',
    noSuchRoom: 'There is no room with this name: create it first',
    roomFull: 'This room is full',
    callFull: 'Too many people for one call',
    alreadyInCall: 'You are already in a call',
    notOnline: 'Someone you called is not online',
    live: 'Live',
    liveTitle: 'Live',
    goLiveTitle: 'Go live',
    goLive: 'Go live',
    refresh: 'Refresh',
    noLive: 'Nobody is live right now. Be the first!',
    onStage: '{count} on stage',
    watchingCount: '{count} watching',
    liveName: 'Live room name',
    liveNameHint: 'Letters, digits and _ . -, up to 64 characters. The audience sees it in the live list.',
    splitMode: 'Mix layout',
    splitTile: 'Grid',
    splitFloatBottom: 'Host full screen, guests below',
    splitFloatTop: 'Host full screen, guests on top',
    splitCutTile: 'Grid, cropped to fill',
    splitAudio: 'Audio only',
    approval: 'Approve who joins the stage',
    approvalHint: 'The audience goes on stage only by request or invite',
    notLive: 'This live has ended',
    leaveLive: 'Leaving this page leaves the live.',
  },
};

export function demoLabels(lang: DemoLang): DemoLabels {
  return LABELS[lang] ?? LABELS.en;
}
