// The AWS SDK warns at every start under Node 20 that releases after January 2027 need Node 22.
// Lambda runs Node 22; locally the warning is noise, so it alone is dropped.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning).startsWith('NodeVersionSupportWarning')) return;
  return emitWarning.call(process, warning, ...rest);
};
