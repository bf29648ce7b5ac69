import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * cosmiconfig loader for `nanogrid.config.ts` / `.mts`. Unlike cosmiconfig's
 * built-in one it ignores the nearest tsconfig.json (whose options, `extends`
 * and paths it cannot apply faithfully) and only strips types: TypeScript
 * transpiles the file to ESM, written beside the original so that its imports
 * (`@nanogrid/host`, plugin packages, relative files) resolve from the config's
 * own directory, then plain node imports it and the temporary file is removed.
 */
export async function loadTsConfigFile(filepath: string, content: string): Promise<unknown> {
  const ts = (await import('typescript')).default;
  const out = ts.transpileModule(content, {
    fileName: filepath,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      // Type-only imports without `import type` are still dropped (no verbatimModuleSyntax).
      verbatimModuleSyntax: false,
      inlineSourceMap: true,
    },
  });
  const syntax = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax) {
    const text = ts.flattenDiagnosticMessageText(syntax.messageText, '\n');
    const pos =
      syntax.file && syntax.start !== undefined ? syntax.file.getLineAndCharacterOfPosition(syntax.start) : undefined;
    throw new Error(`TypeScript syntax error${pos ? ` at line ${pos.line + 1}:${pos.character + 1}` : ''}: ${text}`);
  }
  const tmp = join(dirname(filepath), `.${basename(filepath)}.${randomUUID()}.mjs`);
  await writeFile(tmp, out.outputText);
  try {
    const mod = (await import(pathToFileURL(tmp).href)) as { default?: unknown };
    return mod.default;
  } finally {
    await rm(tmp, { force: true });
  }
}
