// Served from uPlot's ES module build.
export { default } from 'uplot';
