/* Shared by the agent's route files: agent_api.c (tasks, validate, routing)
 * and agent_api_stream.c (events, logs, node, metrics). Loop thread only. */
#ifndef DV_AGENT_API_H
#define DV_AGENT_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "agent.h"
#include "api_server.h"
#include "task.h"

/* ID or unique prefix; answers 404 / 400 itself and returns NULL. */
dv_task *dv_api_find_task(dv_agent *a, dv_api_request *req, const char *id);
/* Query flag: present without value, "1" or "true". */
bool dv_api_flag(const dv_api_request *req, const char *key);
/* A JSON string of LEN bytes with invalid UTF-8 replaced by U+FFFD. */
json_t *dv_api_text(const char *s, size_t len);

/* A task whose record is durable: its "Received" event, and started. */
void dv_api_task_received(dv_agent *a, dv_task *t);

/* agent_api_allocs.c: a group spec POSTed to /v1/tasks (201 with its
 * allocations, or the refusal naming the field); /v1/allocs[/ID] (GET, DELETE);
 * a destroy of an infra task whose members still use its network (answers 409
 * itself and returns true). */
void dv_api_group_submit(dv_agent *a, dv_api_request *req, const json_t *group_json);
/* A Nomad job (nomad_job.h) POSTed to /v1/tasks: its groups, all or nothing,
 * errors named as Nomad names the field ("Job.TaskGroups[0].Tasks[1].Driver"). */
void dv_api_job_submit(dv_agent *a, dv_api_request *req, const json_t *job_json);
void dv_api_allocs(dv_agent *a, dv_api_request *req, const char *id);
bool dv_api_infra_in_use(dv_agent *a, dv_api_request *req, const dv_task *t);

void dv_api_events(dv_agent *a, dv_api_request *req);
void dv_api_task_logs(dv_agent *a, dv_api_request *req, dv_task *t);
void dv_api_node(dv_agent *a, dv_api_request *req);
void dv_api_metrics(dv_agent *a, dv_api_request *req);

#endif
