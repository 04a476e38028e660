/**
 * nginx with the RTMP module as a media plane (production): see plane.ts. This folder's public face; nothing
 * here is loaded unless the server is started with `media: 'nginx'`.
 */
export { startNginxPlane, type NginxMediaPlane, type NginxPlaneOptions } from './plane';
export { locateNginx, type NginxInstall } from './config';
