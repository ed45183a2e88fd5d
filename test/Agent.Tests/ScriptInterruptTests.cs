// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>
/// A script running on the halted core stops when its request is interrupted: over the framed link (raw TCP on
/// loopback here) the debugger's Ctrl+C is the break-in byte, which cancels the request in flight while the connection
/// goes on serving. The test synchronises on the script's own write to guest memory, not on time.
/// </summary>
public sealed class ScriptInterruptTests
{
    private const ulong Marker = 0x7000;

    [Test]
    public async Task BreakIn_WhileAScriptRunsOnTheHaltedCore_InterruptsIt_AndTheLinkServesOn()
    {
        // Arrange: an agent with no limit on the halted core (the default), halted before the guest's first instruction.
        using var session = new DebuggeeSession(GuestSpec.Parse("demo"), new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
        var dispatcher = new RequestDispatcher(session, AgentScripts.Create(session));
        await using var hub = new NotificationHub(session);
        await using var links = new LinkServer(session, dispatcher, hub, new AgentSecurity(null, null, null));
        links.Listen(ListenUri.Parse("tcp://127.0.0.1:0"));
        session.Start(initialBreak: true);
        Assert.That(SpinWait.SpinUntil(() => session.Vm.CurrentHalt is not null, TimeSpan.FromMinutes(2)), Is.True, "the guest never halted");
        await using LinkDebuggeeConnection host = await LinkDebuggeeConnection.ConnectAsync(links.Addresses[0]);
        Task<AgentToHost> run = host.SendAsync(new HostToAgent
        {
            EvaluateScript = new EvaluateScriptRequest { Script = $"eq_pa({Marker:x}, 1234); while (1) {{ }}" },
        });

        // Act: once the script is looping (it wrote its marker), the debugger's break-in byte.
        SpinWait.SpinUntil(() => run.IsCompleted || BitConverter.ToUInt64(session.ReadMemory(Marker, 8, physical: true)) == 0x1234, TimeSpan.FromMinutes(2));
        Assert.That(run.IsCompleted, Is.False, () => $"the script ended before the break-in: {run.Result.EvaluateScript.Message}");
        Assert.That(BitConverter.ToUInt64(session.ReadMemory(Marker, 8, physical: true)), Is.EqualTo(0x1234UL), "the script never started");
        host.Link.SendBreakIn();
        AgentToHost interrupted = await run.WaitAsync(TimeSpan.FromMinutes(2));
        AgentToHost next = await host.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = "print(1234);" } }).WaitAsync(TimeSpan.FromMinutes(2));

        // Assert
        Assert.That(interrupted.EvaluateScript.Status, Is.Not.EqualTo(Status.Ok));
        Assert.That(interrupted.EvaluateScript.Message, Does.Contain("interrupted after").And.Contain("the run was cancelled"));
        Assert.That(next.EvaluateScript.Output, Is.EqualTo("1234\n"));
    }

    [Test]
    public async Task BreakIn_InterruptsEveryRequestSentBeforeIt_EvenOneThatHasNotStarted()
    {
        // Arrange: one endless script running, a second one waiting its turn behind it
        (DebuggeeSession session, NotificationHub hub, LinkServer links) = await HaltedAgentAsync();
        using (session)
        await using (hub)
        await using (links)
        {
            await using LinkDebuggeeConnection host = await LinkDebuggeeConnection.ConnectAsync(links.Addresses[0]);
            Task<AgentToHost> first = host.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = $"eq_pa({Marker:x}, 1234); while (1) {{ }}" } });
            WaitForMarker(session, first);
            Task<AgentToHost> second = host.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = "while (1) { }" } });

            // Act: the break-in byte follows both on the link
            host.Link.SendBreakIn();
            AgentToHost one = await first.WaitAsync(TimeSpan.FromMinutes(2));
            AgentToHost two = await second.WaitAsync(TimeSpan.FromMinutes(2));
            AgentToHost next = await host.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = "print(1234);" } }).WaitAsync(TimeSpan.FromMinutes(2));

            // Assert: both interrupted (the second before it began), and the link serves on
            Assert.That(one.EvaluateScript.Message, Does.Contain("the run was cancelled"));
            Assert.That((two.EvaluateScript.Status, two.EvaluateScript.Message), Is.EqualTo((Status.Timeout, "the request was cancelled before it finished.")));
            Assert.That(next.EvaluateScript.Output, Is.EqualTo("1234\n"));
        }
    }

    [Test]
    public async Task CancellingASentRequest_InterruptsItAtTheAgent()
    {
        // Arrange
        (DebuggeeSession session, NotificationHub hub, LinkServer links) = await HaltedAgentAsync();
        using (session)
        await using (hub)
        await using (links)
        {
            await using LinkDebuggeeConnection host = await LinkDebuggeeConnection.ConnectAsync(links.Addresses[0]);
            using var cancel = new CancellationTokenSource();
            Task<AgentToHost> run = host.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = $"eq_pa({Marker:x}, 1234); while (1) {{ }}" } }, cancel.Token);
            WaitForMarker(session, run);

            // Act: the caller gives up (what Ctrl+C or a deadline does in the debugger)
            await cancel.CancelAsync();
            Assert.That(async () => await run, Throws.InstanceOf<OperationCanceledException>());
            AgentToHost next = await host.SendAsync(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = "print(1234);" } }).WaitAsync(TimeSpan.FromMinutes(2));

            // Assert: the agent stopped the script (else the next request would wait behind it for ever)
            Assert.That(next.EvaluateScript.Output, Is.EqualTo("1234\n"));
        }
    }

    [Test]
    public async Task BreakIn_SentRightAfterTheHandshake_BeforeItsAnswer_HaltsTheGuest()
    {
        // Arrange: a running guest (no initial break) behind a TCP listener, and a raw link to it.
        using var session = new DebuggeeSession(GuestSpec.Parse("demo"), new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
        var dispatcher = new RequestDispatcher(session, AgentScripts.Create(session));
        await using var hub = new NotificationHub(session);
        await using var links = new LinkServer(session, dispatcher, hub, new AgentSecurity(null, null, null));
        links.Listen(ListenUri.Parse("tcp://127.0.0.1:0"));
        session.Start(initialBreak: false);
        Assert.That(ConnectionUri.TryParse(links.Addresses[0], out ConnectionUri? uri, out string? error), Is.True, error);
        await using var link = new ReliableLink<HostToAgent, AgentToHost>(await uri!.OpenAsync(TimeSpan.FromMinutes(1)));

        // Act: the handshake and, without waiting for its answer, the break-in byte (a Ctrl+C typed at once).
        await link.SendAsync(new HostToAgent { RequestId = 1, Handshake = Handshakes.Request(null, null, false) });
        link.SendBreakIn();
        AgentToHost hello = await link.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2));

        // Assert: the break-in was not lost in the window before the agent counted the peer as authenticated.
        Assert.That(hello.Handshake.Status, Is.EqualTo(Status.Ok));
        Assert.That(SpinWait.SpinUntil(() => session.Vm.CurrentHalt is not null, TimeSpan.FromMinutes(2)), Is.True, "the guest never halted");
        Assert.That(session.Vm.CurrentHalt!.Reason, Is.EqualTo(VmxDriver.HaltReason.BreakIn));
    }

    private static async Task<(DebuggeeSession Session, NotificationHub Hub, LinkServer Links)> HaltedAgentAsync()
    {
        var session = new DebuggeeSession(GuestSpec.Parse("demo"), new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
        var dispatcher = new RequestDispatcher(session, AgentScripts.Create(session));
        var hub = new NotificationHub(session);
        var links = new LinkServer(session, dispatcher, hub, new AgentSecurity(null, null, null));
        links.Listen(ListenUri.Parse("tcp://127.0.0.1:0"));
        session.Start(initialBreak: true);
        Assert.That(SpinWait.SpinUntil(() => session.Vm.CurrentHalt is not null, TimeSpan.FromMinutes(2)), Is.True, "the guest never halted");
        await Task.CompletedTask;
        return (session, hub, links);
    }

    /// <summary>Waits until the script wrote its marker: it is running (not a measurement: two minutes means a hang).</summary>
    private static void WaitForMarker(DebuggeeSession session, Task<AgentToHost> run)
    {
        SpinWait.SpinUntil(() => run.IsCompleted || BitConverter.ToUInt64(session.ReadMemory(Marker, 8, physical: true)) == 0x1234, TimeSpan.FromMinutes(2));
        Assert.That(run.IsCompleted, Is.False, "the script ended before the break-in");
        Assert.That(BitConverter.ToUInt64(session.ReadMemory(Marker, 8, physical: true)), Is.EqualTo(0x1234UL), "the script never started");
    }

    [Test]
    public void Evaluate_WithAnEvaluationLimit_StopsAtIt_AndNamesTheOption()
    {
        // Arrange
        using var session = new DebuggeeSession(GuestSpec.Parse("demo"), new VmConfiguration { Cores = 2, MemoryBytes = 64 * 1024 * 1024 });
        IScriptCompiler scripts = AgentScripts.Create(session, evaluationLimit: 5_000);
        session.Start(initialBreak: true);

        // Act
        ScriptException error = Assert.Throws<ScriptException>(() => scripts.Evaluate("while (1) { }", session.Core(0), new HaltContext(0, null, 0)))!;

        // Assert
        Assert.That(error.Message, Does.Contain("execution limit: more than 5,000 operations").And.Contain("--max-eval-execution-count"));
    }

    [Test]
    public void Limits_Defaults_AreHyperDbgsForEventsAndNoneOnTheHaltedCore_AndNameTheirOption()
    {
        Assert.That(AgentScripts.EventLimits(null).MaxOperations, Is.EqualTo(1_000_000));
        Assert.That(AgentScripts.EventLimits(null).MaxOperationsSetting, Is.EqualTo("the agent's --max-execution-count"));
        Assert.That(AgentScripts.EvaluationLimits(null).MaxOperations, Is.Zero);
        Assert.That(AgentScripts.EvaluationLimits(null).MaxOperationsSetting, Is.EqualTo("the agent's --max-eval-execution-count"));
    }

    [TestCase("--max-execution-count", "0", false)]
    [TestCase("--max-execution-count", "1", true)]
    [TestCase("--max-eval-execution-count", "0", true)]
    [TestCase("--max-eval-execution-count", "-5", false)]
    [TestCase("--max-execution-count", "1000000000001", false)]
    [TestCase("--max-execution-count", "0x10", false)]
    public void ParseLimit_Options_AcceptOnlyTheirRange(string option, string text, bool accepted)
    {
        bool ok = AgentScripts.TryParseLimit(option, text, out _, out string? error);

        Assert.That(ok, Is.EqualTo(accepted), error);
        if (!accepted)
        {
            Assert.That(error, Does.StartWith(option));
        }
    }
}
