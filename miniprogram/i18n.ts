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
  },
};

export function demoLabels(lang: DemoLang): DemoLabels {
  return LABELS[lang] ?? LABELS.en;
}
