/** Mounts the Dashboard with Ink. Loaded lazily by index.ts, so commands without a dashboard never load React. */
import { createElement } from 'react';
import { render, type Instance, type RenderOptions } from 'ink';
import { Dashboard, type DashboardProps } from './Dashboard.js';

export function mountDashboard(props: DashboardProps, options: RenderOptions): Instance {
  return render(createElement(Dashboard, props), options);
}
