/**
 * The Prometheus text `/metrics` serves, built up family by family: samples
 * added one by one, and other expositions (the packages' own
 * `exportMetrics('prometheus')` text) merged in with a `node` label on every
 * sample. Each family has one HELP and one TYPE line, however many nodes
 * add to it.
 *
 * HELP text is kept as written (unescaped) and escaped once, when rendered:
 * a merged exposition's HELP lines are unescaped as they are read.
 *
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import { escapePrometheusHelp, escapePrometheusLabel, formatPrometheusValue } from '@x/interface'

export type MetricType = 'gauge' | 'counter' | 'untyped'

interface Family {
  /** As written, not escaped */
  help: string
  type: MetricType
  /** Rendered sample lines */
  samples: string[]
}

/**
 * A HELP text as written, from its escaped form in the text format: `\\`
 * is a backslash and `\n` a line feed; any other backslash stays as it is
 * (as the reference parsers read it)
 */
export function unescapePrometheusHelp (escaped: string): string {
  return escaped.replace(/\\(\\|n)/g, (_, c: string) => c === 'n' ? '\n' : '\\')
}

export class Exposition {
  private readonly families = new Map<string, Family>()

  /** The metric names of the families so far */
  names (): Set<string> {
    return new Set(this.families.keys())
  }

  private family (name: string, help: string, type: MetricType): Family {
    let family = this.families.get(name)

    if (family == null) {
      family = { help, type, samples: [] }
      this.families.set(name, family)
    }

    return family
  }

  /** A family, with no samples until some are added (its HELP and TYPE lines are rendered all the same) */
  declare (name: string, help: string, type: MetricType): void {
    this.family(name, help, type)
  }

  /** One sample; `help` as written (it is escaped when rendered) */
  add (name: string, help: string, type: MetricType, labels: Record<string, string | number>, value: number): void {
    const rendered = Object.entries(labels).map(([k, v]) => `${k}="${escapePrometheusLabel(String(v))}"`).join(',')
    this.family(name, help, type).samples.push(`${name}{${rendered}} ${formatPrometheusValue(value)}`)
  }

  /** Adds another exposition's families, with `node` on every sample */
  merge (text: string, node: number): void {
    let current: Family | undefined
    const help = new Map<string, string>()

    for (const line of text.split('\n')) {
      if (line.startsWith('# HELP ')) {
        const [name, ...rest] = line.slice(7).split(' ')
        help.set(name, unescapePrometheusHelp(rest.join(' ')))
      } else if (line.startsWith('# TYPE ')) {
        const [name, type] = line.slice(7).split(' ')
        current = this.family(name, help.get(name) ?? name, (type as MetricType) ?? 'untyped')
      } else if (line.trim() !== '' && !line.startsWith('#') && current != null) {
        const brace = line.indexOf('{')
        const space = line.indexOf(' ')

        if (brace >= 0 && brace < space) {
          const labelled = line[brace + 1] !== '}'
          current.samples.push(`${line.slice(0, brace)}{node="${node}"${labelled ? ',' : ''}${line.slice(brace + 1)}`)
        } else {
          current.samples.push(`${line.slice(0, space)}{node="${node}"}${line.slice(space)}`)
        }
      }
    }
  }

  toString (): string {
    const lines: string[] = []

    for (const [name, family] of this.families) {
      lines.push(`# HELP ${name} ${escapePrometheusHelp(family.help)}`)
      lines.push(`# TYPE ${name} ${family.type}`)
      lines.push(...family.samples)
    }

    return `${lines.join('\n')}\n`
  }
}
