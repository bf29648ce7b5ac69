export { type UiAsset, type UiAssets, loadUiAssets } from './ui-assets.js';
export { UI_CSP, type UiRoutesOptions, uiRoutes } from './ui-routes.js';
