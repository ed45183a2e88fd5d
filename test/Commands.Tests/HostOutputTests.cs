// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Tests;

public sealed class HostOutputTests
{
    [Test]
    public void Colour_ErrorsRedBreaksYellowReportsCyan_ScriptOutputPlain()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var host = new HostOutput(output, error, json: false, colour: true);

        host.Error("err, bad");
        host.Notification(new Notification { Halted = new HaltedNotification() }, "event 0x0 triggered (pre)\n");
        host.Notification(new Notification { Log = new LogNotification() }, "[agent warning] x\n");
        host.Notification(new Notification { ScriptOutput = new ScriptOutputNotification() }, "A");

        Assert.That(error.ToString(), Is.EqualTo("\u001b[31merr, bad\u001b[0m" + Environment.NewLine));
        Assert.That(output.ToString(), Is.EqualTo("\u001b[33mevent 0x0 triggered (pre)\u001b[0m\n\u001b[36m[agent warning] x\u001b[0m\nA"));
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    public void Colour_OffOrJson_NoEscapeCodes(bool colour, bool json)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var host = new HostOutput(output, error, json, colour);

        host.Error("err, bad");
        host.Notification(new Notification { Halted = new HaltedNotification() }, "event 0x0 triggered (pre)\n");

        Assert.That(output.ToString() + error.ToString(), Does.Not.Contain("\u001b["));
    }

    [Test]
    public void Warning_TextModeOnStderrInYellow_JsonModeInTheCommandsResult()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var text = new HostOutput(output, error, json: false, colour: true);
        using var jsonOut = new StringWriter();
        using var jsonErr = new StringWriter();
        var json = new HostOutput(jsonOut, jsonErr, json: true, colour: false);

        text.Warning("warning: w");
        json.BeginCommand();
        json.Warning("warning: w");
        json.EndCommand("? ch = 1", ok: true);
        json.BeginCommand();
        json.EndCommand("g", ok: true);

        Assert.That(error.ToString(), Is.EqualTo("\u001b[33mwarning: w\u001b[0m" + Environment.NewLine));
        Assert.That(output.ToString(), Is.Empty);
        string[] results = jsonOut.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(results[0], Does.Contain("\"warnings\":[\"warning: w\"]"));
        Assert.That(results[1], Does.Not.Contain("warnings"), "a command without warnings has no such field");
        Assert.That(jsonErr.ToString(), Is.Empty);
    }
}
