#!/bin/sh
# GuideLLM against one model (run by the benchmark Jobs in the GuideLLM image).
# Environment: MODEL_NAME (served model name), TARGET (OpenAI-compatible base URL), TOKENIZER
# (Hugging Face id of the model's tokenizer), RATES (default 1,5,10,25), MAX_SECONDS (per rate,
# default 120), DATA (GuideLLM synthetic data spec), RESULTS (directory on the results volume).
# The full report stays on the volume; the same JSON document is printed between the markers
# DEMOCTL-RESULTS-BEGIN / DEMOCTL-RESULTS-END, where democtl's benchmark step reads it.
# Unset variables read as empty through printenv (set -u), defaults below; no brace expansions,
# which democtl's render check reserves for unrendered template variables.
set -eu
RATES=$(printenv RATES || true) MAX_SECONDS=$(printenv MAX_SECONDS || true)
DATA=$(printenv DATA || true) RESULTS=$(printenv RESULTS || true)
[ -n "$RATES" ] || RATES=1,5,10,25
[ -n "$MAX_SECONDS" ] || MAX_SECONDS=120
[ -n "$DATA" ] || DATA=prompt_tokens=512,output_tokens=256
[ -n "$RESULTS" ] || RESULTS=/results
out="$RESULTS/$MODEL_NAME-$(date +%Y%m%d-%H%M%S).json"
guidellm benchmark \
  --target "$TARGET" \
  --model "$MODEL_NAME" \
  --processor "$TOKENIZER" \
  --rate-type concurrent \
  --rate "$RATES" \
  --max-seconds "$MAX_SECONDS" \
  --data "$DATA" \
  --output-path "$out"
echo DEMOCTL-RESULTS-BEGIN
python -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$out"
echo DEMOCTL-RESULTS-END
