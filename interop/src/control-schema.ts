/**
 * The go peer's control protocol schema (`interop/go-peer/control-protocol.json`)
 * and the TypeScript it stands for: `renderControlProtocol` turns the schema
 * into `control-protocol.ts` (interfaces named like the Go structs, the
 * command map and the list of command names). A test checks that the
 * committed file is what the schema renders to; after editing the schema
 * run `node interop/src/control-schema.ts --write`.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GO_PEER_DIR } from './build.ts'

export interface ControlSchema {
  /** Named types: field name -> field type (`string`, `number`, `boolean`, `bytes`, a name, `T[]`, `record<T>`, a trailing `?` when optional) */
  types: Record<string, Record<string, string>>
  commands: Record<string, { args: string, reply: string }>
}

/** The schema's text is not what it should be */
export class InvalidControlSchemaError extends Error {
  static name = 'InvalidControlSchemaError'
  name = 'InvalidControlSchemaError'
}

export const CONTROL_SCHEMA_FILE = join(GO_PEER_DIR, 'control-protocol.json')

export function readControlSchema (file = CONTROL_SCHEMA_FILE): ControlSchema {
  const schema = JSON.parse(readFileSync(file, 'utf8'))

  if (typeof schema?.types !== 'object' || typeof schema?.commands !== 'object') {
    throw new InvalidControlSchemaError(`${file} needs "types" and "commands"`)
  }

  return schema
}

function tsType (schema: ControlSchema, type: string, where: string): string {
  if (type.endsWith('[]')) {
    const inner = tsType(schema, type.slice(0, -2), where)
    return /^[A-Za-z]+$/.test(inner) ? `${inner}[]` : `Array<${inner}>`
  }

  const record = /^record<(.+)>$/.exec(type)

  if (record != null) {
    return `Record<string, ${tsType(schema, record[1], where)}>`
  }

  switch (type) {
    case 'string':
    case 'number':
    case 'boolean':
      return type
    case 'bytes':
      // base64 in JSON, as Go's encoding/json writes []byte
      return 'string'
    default:
      if (schema.types[type] == null) {
        throw new InvalidControlSchemaError(`${where}: unknown type ${type}`)
      }

      return type
  }
}

/** The TypeScript module for a schema */
export function renderControlProtocol (schema: ControlSchema): string {
  const lines = [
    '/**',
    ' * The go peer\'s control protocol, typed: GENERATED from',
    ' * `interop/go-peer/control-protocol.json` by `node interop/src/control-schema.ts --write`.',
    ' * Do not edit: edit the schema (the Go structs in `go-peer/schema.go` are checked against it).',
    ' */',
    ''
  ]

  for (const [name, fields] of Object.entries(schema.types)) {
    const entries = Object.entries(fields)

    if (entries.length === 0) {
      lines.push(`export type ${name} = Record<string, never>`, '')
      continue
    }

    lines.push(`export interface ${name} {`)

    for (const [field, type] of entries) {
      const optional = type.endsWith('?')
      lines.push(`  ${field}${optional ? '?' : ''}: ${tsType(schema, optional ? type.slice(0, -1) : type, `${name}.${field}`)}`)
    }

    lines.push('}', '')
  }

  lines.push('/** Every command: its arguments and its reply (the fields of its result line) */')
  lines.push('export interface GoPeerCommands {')

  for (const [command, { args, reply }] of Object.entries(schema.commands)) {
    tsType(schema, args, command)
    tsType(schema, reply, command)
    lines.push(`  ${/^[a-z]+$/.test(command) ? command : `'${command}'`}: { args: ${args}, reply: ${reply} }`)
  }

  lines.push('}', '')
  lines.push('export type GoPeerCommand = keyof GoPeerCommands', '')
  lines.push('/** The commands the go peer knows; any other is refused before it is sent */')
  lines.push(`export const GO_PEER_COMMANDS: readonly GoPeerCommand[] = [${Object.keys(schema.commands).map(c => `'${c}'`).join(', ')}]`, '')
  return lines.join('\n')
}

export const CONTROL_PROTOCOL_FILE = fileURLToPath(new URL('control-protocol.ts', import.meta.url))

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(CONTROL_PROTOCOL_FILE, renderControlProtocol(readControlSchema()))
  process.stdout.write(`wrote ${CONTROL_PROTOCOL_FILE}\n`)
}
