// WhatsApp's reasons for a failed message, in the operator's language. The codes
// and sentences follow whatsapp/errors.py; a code missing here is shown with the
// platform's own title.
import { gettext } from "./i18n.js";

const SENTENCES = {
  1: () => gettext("WhatsApp had an unknown error; trying again may help."),
  2: () => gettext("WhatsApp is temporarily unavailable; trying again may help."),
  4: () => gettext("Too many requests from this app; sending will resume shortly."),
  100: () => gettext("WhatsApp rejected a parameter of the request."),
  190: () => gettext("The access token has expired or is invalid; an admin must renew it."),
  368: () => gettext("The number is temporarily blocked for policy violations."),
  80007: () =>
    gettext("The business account's rate limit was reached; sending will resume shortly."),
  130429: () =>
    gettext("The number's throughput limit was reached; sending will resume shortly."),
  131000: () => gettext("Something went wrong at WhatsApp; trying again may help."),
  131005: () => gettext("Access denied: the token lacks permission for this number."),
  131008: () => gettext("A required parameter is missing."),
  131009: () => gettext("A parameter value is not valid."),
  131016: () => gettext("WhatsApp's service is overloaded; trying again may help."),
  131021: () => gettext("The recipient is the sending number itself."),
  131026: () =>
    gettext(
      "The message could not be delivered: the recipient may not use WhatsApp or runs an old version.",
    ),
  131030: () => gettext("The recipient is not in the test number's allowed list."),
  131031: () => gettext("The business account is locked."),
  131042: () => gettext("There is a problem with the business account's payment method."),
  131045: () => gettext("The number is not registered (certificate missing)."),
  131047: () =>
    gettext(
      "More than 24 hours have passed since the customer last wrote: only an approved template can be sent.",
    ),
  131048: () => gettext("Sending was limited because customers reported this number as spam."),
  131049: () => gettext("WhatsApp did not deliver this message to keep engagement healthy."),
  131050: () =>
    gettext("The customer has stopped receiving marketing messages from this business."),
  131051: () => gettext("This message type is not supported."),
  131052: () => gettext("The media could not be downloaded from the customer's message."),
  131053: () => gettext("The media could not be uploaded."),
  131056: () =>
    gettext("Too many messages to this customer in a short time; sending will resume shortly."),
  132000: () => gettext("The template's parameter count does not match its definition."),
  132001: () => gettext("The template does not exist in this language."),
  132005: () => gettext("The template's text is too long once its variables are filled in."),
  132007: () => gettext("The template's content breaks WhatsApp's policy."),
  132012: () => gettext("A template parameter has the wrong format."),
  132015: () => gettext("The template is paused because of low quality."),
  132016: () => gettext("The template is disabled."),
  133004: () => gettext("WhatsApp's server is temporarily unavailable; trying again may help."),
  133010: () => gettext("The number is not registered with the Cloud API."),
};

/** The reason for an error code in the operator's language, or null for a code this page does not know. */
export function errorSentence(code) {
  const sentence = SENTENCES[code];
  return sentence ? sentence() : null;
}
