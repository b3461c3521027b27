package openapitest_test

// moreOperations are the operations issue 15 added (Whapi's gate API
// 1.8.7): TestOperations wants them with wantOperations.
var moreOperations = []string{
	"DELETE /blacklist/{ContactID}",
	"DELETE /contacts/{ContactID}",
	"DELETE /groups/{GroupID}/applications",
	"DELETE /messages/{MessageID}/pin",
	"GET /blacklist",
	"GET /contacts/lids",
	"GET /contacts/lids/{ContactID}",
	"GET /groups/{GroupID}/applications",
	"GET /groups/{GroupID}/icon",
	"PATCH /contacts/{ContactID}",
	"POST /contacts/{ContactID}",
	"POST /groups/link/{InviteCode}",
	"POST /groups/{GroupID}/applications",
	"POST /messages/contact_list",
	"POST /messages/live_location",
	"POST /messages/media/{MediaMessageType}",
	"POST /messages/short",
	"POST /messages/{MessageID}/pin",
	"PUT /blacklist/{ContactID}",
	"PUT /contacts",
	"PUT /status",
}
