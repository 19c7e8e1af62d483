/**
 * The contract of the service's own routes: health and readiness, the monitor (metrics, SLOs,
 * the dashboard and its data), and the contract itself with its docs page.
 */
import { z } from 'zod';
import { other, UNAVAILABLE } from './errors';
import type { Operation } from './operation';
import { DashboardData, Health, Ready, SloAnswer } from './schemas';

const text = z.string();
const ASSET_MEDIA = ['text/javascript', 'text/css'] as const;

export const SERVICE_OPERATIONS: readonly Operation[] = [
  {
    method: 'GET',
    pattern: '/health',
    access: 'public',
    id: 'health',
    tag: 'Service',
    summary: 'The process is up, and which ledger it writes to',
    responses: { 200: { description: 'up', schema: Health } },
    errors: [],
  },
  {
    method: 'GET',
    pattern: '/ready',
    access: 'public',
    id: 'ready',
    tag: 'Service',
    summary: 'The ledger and PostgreSQL answer',
    description: 'Redis down is a degradation (balances are still served), not unreadiness.',
    responses: { 200: { description: 'ready, or ready without some dependency', schema: Ready } },
    errors: UNAVAILABLE,
  },
  {
    method: 'GET',
    pattern: '/metrics',
    access: { scope: 'monitor:read' },
    id: 'metrics',
    tag: 'Monitoring',
    summary: 'Prometheus metrics',
    responses: {
      200: {
        description: 'Prometheus text exposition format',
        schema: text,
        media: ['text/plain'],
      },
    },
    errors: [],
  },
  {
    method: 'GET',
    pattern: '/slo',
    access: { scope: 'monitor:read' },
    id: 'slo',
    tag: 'Monitoring',
    summary: 'Every SLO: target, current value, state, burn rate; and the firing alerts',
    responses: { 200: { description: 'the SLO report', schema: SloAnswer } },
    errors: [],
  },
  {
    method: 'GET',
    pattern: '/dashboard',
    access: 'public',
    id: 'dashboard',
    tag: 'Monitoring',
    summary: 'The live dashboard (an HTML page; its data needs monitor:read)',
    responses: { 200: { description: 'the page', schema: text, media: ['text/html'] } },
    errors: [],
  },
  {
    method: 'GET',
    pattern: '/dashboard/data',
    access: { scope: 'monitor:read' },
    id: 'dashboardData',
    tag: 'Monitoring',
    summary: "The dashboard's time series, one point per second",
    query: {
      since: {
        schema: z.string(),
        description: 'only points after this time (ms since epoch); not a number: every point',
      },
    },
    responses: { 200: { description: 'the points and SLO states', schema: DashboardData } },
    errors: [],
  },
  {
    method: 'GET',
    pattern: '/dashboard/assets/:name',
    access: 'public',
    id: 'dashboardAsset',
    tag: 'Monitoring',
    summary: "The dashboard's script and its charting library (uPlot)",
    params: { name: { schema: z.string().min(1), description: 'the asset', example: 'uplot.js' } },
    responses: { 200: { description: 'the asset', schema: text, media: ASSET_MEDIA } },
    errors: [other('not_found')],
  },
  {
    method: 'GET',
    pattern: '/openapi.json',
    access: 'public',
    id: 'openapi',
    tag: 'Contract',
    summary: 'This document: the OpenAPI 3.1 contract of the API',
    responses: {
      200: {
        description: 'the contract',
        schema: z.looseObject({ openapi: z.literal('3.1.0') }),
      },
    },
    errors: [],
  },
  {
    method: 'GET',
    pattern: '/docs',
    access: 'public',
    id: 'docs',
    tag: 'Contract',
    summary: 'The contract as a page (Swagger UI, served from the project)',
    responses: { 200: { description: 'the page', schema: text, media: ['text/html'] } },
    errors: [],
  },
  {
    method: 'GET',
    pattern: '/docs/assets/:name',
    access: 'public',
    id: 'docsAsset',
    tag: 'Contract',
    summary: "The docs page's script and style",
    params: { name: { schema: z.string().min(1), description: 'the asset', example: 'docs.js' } },
    responses: { 200: { description: 'the asset', schema: text, media: ASSET_MEDIA } },
    errors: [other('not_found')],
  },
];
