# Included by the Makefile: deploying and operating the stack (ops/).

# The post-deploy smoke suite (ops/smoke.py) against any base URL; STACK= lets it get a
# token from the stack's machine client and the web origin from its outputs.
smoke: $(VENV)/.installed
	@test -n "$(URL)" || { echo 'usage: make smoke URL=https://{api-id}.execute-api.{region}.amazonaws.com/{stage} [STACK=name]' >&2; exit 2; }
	$(PY) -m ops.smoke --url "$(URL)" $(if $(STACK),--stack "$(STACK)") $(if $(ORIGIN),--origin "$(ORIGIN)")

# The stack, the web app and the smoke suite: ENV=default (dev) or ENV=prod.
# DEPLOY_ARGS go to `sam deploy` (the pipeline passes --no-confirm-changeset --role-arn ...);
# PERMISSIONS_BOUNDARY= the pipeline's boundary ARN, put on every role of the stack.
ENV ?= default
deploy: $(VENV)/.installed .venv-sam/.installed $(WEB_DIST)
	$(PY) -m ops.deploy --env "$(ENV)" --site $(WEB)/dist $(if $(PERMISSIONS_BOUNDARY),--permissions-boundary "$(PERMISSIONS_BOUNDARY)") -- $(DEPLOY_ARGS)

# The restaurant's people, in the stack's user pool (ops/users.py): invite or change a
# role, or REMOVE=1. ROLE is customer, staff (the kitchen board) or chef (the menu).
user: $(VENV)/.installed
	@test -n "$(EMAIL)" || { echo 'usage: make user ENV=default|prod EMAIL=person@example.com ROLE=customer|staff|chef  (or REMOVE=1)' >&2; exit 2; }
	$(PY) -m ops.users --env "$(ENV)" --email "$(EMAIL)" --role "$(ROLE)" $(if $(filter 1,$(REMOVE)),--remove)
