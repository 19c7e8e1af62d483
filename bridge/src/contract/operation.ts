/**
 * How an operation of the API is declared for the contract: its route (method, pattern, access:
 * the same triple the router holds), its inputs as zod schemas (the rooms' own, imported), its
 * answers, and the (status, code) pairs of its refusals beside those every route shares.
 */
import type { z } from 'zod';
import type { RouteAccess } from '../http/router';
import type { ErrorPair } from './errors';

export interface Param {
  schema: z.ZodType;
  description: string;
  /** A header the caller must send (path parameters always are). */
  required?: boolean;
  example?: unknown;
}

/** A response header: required ones are on every answer with that status. */
export interface HeaderSpec {
  schema: z.ZodType;
  description: string;
  required: boolean;
}

/** One success answer. `media` other than JSON is a text body (a page, an asset, Prometheus). */
export interface Reply {
  description: string;
  schema?: z.ZodType;
  /** Media types of the body (default application/json). */
  media?: readonly string[];
  headers?: Record<string, HeaderSpec>;
}

export interface Operation {
  method: 'GET' | 'POST';
  /** As the router has it: `/api/journal/:journalId/post`. */
  pattern: string;
  access: RouteAccess;
  id: string;
  tag: string;
  summary: string;
  description?: string;
  /** In the order of the pattern's parameters. */
  params?: Record<string, Param>;
  query?: Record<string, Param>;
  headers?: Record<string, Param>;
  body?: {
    schema: z.ZodType;
    required: boolean;
    description?: string;
    /** Named examples (./examples.ts). */
    examples?: Record<string, unknown>;
  };
  responses: Record<number, Reply>;
  /** Refusals of this operation besides the shared ones (./errors.ts ANY_REQUEST, KEYED, ...). */
  errors: readonly ErrorPair[];
}

export const JSON_MEDIA = 'application/json';
