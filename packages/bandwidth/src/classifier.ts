/**
 * Places a protocol in a class: the class with the longest matching prefix
 * among all classes' `protocols`, else the default class. Results are
 * cached (at most `MAX_CACHED` protocols, the oldest dropped first).
 */
import type { ResolvedClass } from './options.ts'

const MAX_CACHED = 256

export class Classifier {
  private readonly prefixes: Array<{ prefix: string, cls: ResolvedClass }>
  private readonly fallback: ResolvedClass
  private readonly cache = new Map<string, ResolvedClass>()

  constructor (classes: ResolvedClass[], defaultClass: ResolvedClass) {
    this.prefixes = classes
      .flatMap(cls => cls.protocols.map(prefix => ({ prefix, cls })))
      .sort((a, b) => b.prefix.length - a.prefix.length)
    this.fallback = defaultClass
  }

  classify (protocol: string): ResolvedClass {
    const cached = this.cache.get(protocol)

    if (cached != null) {
      return cached
    }

    const cls = this.prefixes.find(({ prefix }) => protocol.startsWith(prefix))?.cls ?? this.fallback

    if (this.cache.size >= MAX_CACHED) {
      this.cache.delete(this.cache.keys().next().value as string)
    }

    this.cache.set(protocol, cls)
    return cls
  }
}
