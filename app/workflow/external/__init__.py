"""External tasks: service tasks done by workers outside the platform, through a REST API
modelled on Camunda 7's (fetch-and-lock by topic, complete, failure with retries, BPMN
error, extend lock). See docs/workflow.md."""
