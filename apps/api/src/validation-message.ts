import type { ZodError } from "zod";

/**
 * One line a user can act on for a rejected input: each problem prefixed by the field it concerns
 * (`size: Too small: expected number to be >=1; filename: Invalid input`), instead of Zod's JSON dump.
 */
export function validationMessage(error: ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
}
