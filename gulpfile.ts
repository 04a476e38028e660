/**
 * gulp build  → dist/               the folder WeChat DevTools opens (project.config.json: miniprogramRoot)
 *                 <root>            demo app from miniprogram/
 *                 miniprogram_npm/miniprogram-netcall/   the kit (services + components + index.js)
 *                 miniprogram_npm/mobx-miniprogram{,-bindings}/   runtime deps, no "build npm" needed
 * gulp dist   → miniprogram_dist/   the kit as the npm package ships it, with .d.ts
 * gulp watch  → build, then rebuild dist/ incrementally on change
 * gulp clean  → remove both
 *
 * Layout and options live in build/config.ts; the tasks in build/tasks.ts.
 */
import { createConfig } from './build/config';
import { createTasks } from './build/tasks';

const tasks = createTasks(createConfig(__dirname));

export const clean = tasks.clean;
export const build = tasks.build;
export const dist = tasks.dist;
export const watch = tasks.watch;
export default build;
