/** The theme as React context, for components (kept apart from theme.ts, which must not load React). */
import { createContext, useContext } from 'react';
import type { Theme } from './theme.js';

export const ThemeContext = createContext<Theme>({ color: true });
export const useTheme = (): Theme => useContext(ThemeContext);
