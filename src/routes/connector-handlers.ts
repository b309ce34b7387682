/**
 * The job handlers the connectors' queue serves (src/connector/job-kinds.ts): one per job kind,
 * each from the feature that owns the work. Here, in the routes layer, so the queue (domain)
 * never imports the features and the features never import the queue's routes.
 */
import type { JobHandler, JobKind } from "../connector/job-kinds";
import { buildJobHandler } from "../builds/build-job";
import { scanNotificationJobHandler } from "../secscan/notification-job";
import { scanJobHandler } from "../secscan/scan-job";

export const JOB_HANDLERS: Partial<Record<JobKind, JobHandler>> = {
  build: buildJobHandler,
  scan: scanJobHandler,
  scan_notification: scanNotificationJobHandler,
};
