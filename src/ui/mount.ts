/**
 * Mounts the Dashboard with Ink. Loaded lazily by index.ts, so commands without a dashboard never load React.
 * The build replaces dist/ui/mount.js with a bundle of this file and everything it imports from src/ui and
 * node_modules (scripts/build-ui.mjs); modules outside src/ui stay shared with the rest of dist/.
 */
import { createElement } from 'react';
import { render, type Instance, type RenderOptions } from 'ink';
import { Dashboard, type DashboardProps } from './Dashboard.js';

export function mountDashboard(props: DashboardProps, options: RenderOptions): Instance {
  return render(createElement(Dashboard, props), options);
}
