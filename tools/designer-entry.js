// Entry of the designer bundle (built by tools/copy-vendor.js with esbuild into
// app/static/vendor/cecp-designer/): bpmn-js modeler + properties panel with the Camunda 7
// provider (names, forms, conditions, timers, external topics), the Camunda moddle
// extensions and bpmn-auto-layout for models that come without diagram information.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import { layoutProcess } from 'bpmn-auto-layout';

function translateModule(dictionary) {
  function translate(template, replacements) {
    replacements = replacements || {};
    template = (dictionary && dictionary[template]) || template;
    return template.replace(/{([^}]+)}/g, function (_, key) {
      return key in replacements ? replacements[key] : '{' + key + '}';
    });
  }
  return { translate: ['value', translate] };
}

window.CecpDesigner = {
  create: function (options) {
    return new BpmnModeler({
      container: options.container,
      propertiesPanel: { parent: options.panel },
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        CamundaPlatformPropertiesProviderModule,
        CamundaBehaviorsModule,
        translateModule(options.translations)
      ],
      moddleExtensions: { camunda: camundaModdle }
    });
  },
  layoutProcess: layoutProcess
};
