export { TerminalReport, type TerminalReportOptions, type TerminalReportJson } from './report.js';
export { serviceTable, serviceRows, type ServiceRow } from './service-table.js';
export { traceTrees, renderTrace, traceToJson, type TraceJson, type TraceSpanJson, type TraceTreeOptions } from './trace-trees.js';
export { TracePicker, type PickedTrace, type TracePickerOptions } from './trace-picker.js';
export { createProgress, ProgressBar, type Progress, type ProgressOptions, type ProgressStream } from './progress.js';
export type { ViewOptions } from './ansi.js';
