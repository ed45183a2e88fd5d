// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Protocol.Internal;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Protocol.Tests;

public sealed class ProtocolLimitsTests
{
    [Test]
    public void Init_OutOfRangeValues_ThrowNamingPropertyAndValue()
    {
        Assert.That(() => new ProtocolLimits { MaxFramePayload = ProtocolConstants.AbsoluteMaxFramePayload + 1 }, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxFramePayload").And.Message.Contains("1048577"));
        Assert.That(() => new ProtocolLimits { MaxFramePayload = 255 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new ProtocolLimits { MaxMemoryBytes = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxMemoryBytes"));
        Assert.That(() => new ProtocolLimits { MaxScriptBytes = -1 }, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxScriptBytes"));
        Assert.That(() => new ProtocolLimits { MaxEvents = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxEvents"));
        Assert.That(() => new ProtocolLimits { MaxOutputs = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxOutputs"));
        Assert.That(() => new ProtocolLimits { MaxOutputsPerEvent = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxOutputsPerEvent"));
    }

    [Test]
    public void Defaults_AreDocumentedValues()
    {
        ProtocolLimits limits = ProtocolLimits.Default;
        Assert.That(limits.MaxFramePayload, Is.EqualTo(64 * 1024));
        Assert.That(limits.MaxOutputsPerEvent, Is.EqualTo(5));
    }

    [Test]
    public void TryValidate_MemoryReadBeyondLimit_Rejected()
    {
        var limits = new ProtocolLimits { MaxMemoryBytes = 4096 };
        Assert.That(limits.TryValidate(new HostToAgent { ReadMemory = new ReadMemoryRequest { Length = 4096 } }, out _), Is.True);
        Assert.That(limits.TryValidate(new HostToAgent { ReadMemory = new ReadMemoryRequest { Length = 4097 } }, out string? error), Is.False);
        Assert.That(error, Does.Contain("1001").And.Contain("1000"), "hexadecimal, as the debugger writes lengths");
    }

    [Test]
    public void TryValidate_MemoryWriteBeyondLimit_Rejected()
    {
        var limits = new ProtocolLimits { MaxMemoryBytes = 16 };
        var request = new HostToAgent { WriteMemory = new WriteMemoryRequest { Data = ByteString.CopyFrom(new byte[17]) } };
        Assert.That(limits.TryValidate(request, out string? error), Is.False);
        Assert.That(error, Does.Contain("11"));
    }

    [Test]
    public void TryValidate_ScriptBeyondLimit_Rejected()
    {
        var limits = new ProtocolLimits { MaxScriptBytes = 10 };
        Assert.That(limits.TryValidate(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = "printf(1);" } }, out _), Is.True);
        Assert.That(limits.TryValidate(new HostToAgent { EvaluateScript = new EvaluateScriptRequest { Script = "printf(12);" } }, out string? error), Is.False);
        Assert.That(error, Does.Contain("11"));
        var register = new HostToAgent { RegisterEvent = new RegisterEventRequest { Event = new EventRegistration { Script = "printf(\"ü\");" } } };
        Assert.That(limits.TryValidate(register, out error), Is.False, "sizes count UTF-8 bytes");
    }

    [Test]
    public void TryValidate_TooManyOutputsPerEvent_Rejected()
    {
        var registration = new EventRegistration();
        registration.Outputs.AddRange(["a", "b", "c", "d", "e", "f"]);
        Assert.That(ProtocolLimits.Default.TryValidate(new HostToAgent { RegisterEvent = new RegisterEventRequest { Event = registration } }, out string? error), Is.False);
        Assert.That(error, Does.Contain("6 output sources"));
        Assert.That(ProtocolLimits.Default.TryValidate(new HostToAgent { RegisterEvent = new RegisterEventRequest() }, out error), Is.False);
        Assert.That(error, Does.Contain("missing"));
    }

    [Test]
    public void TryAdmitEvent_AtLimit_Rejected()
    {
        var limits = new ProtocolLimits { MaxEvents = 3 };
        Assert.That(limits.TryAdmitEvent(2, out _), Is.True);
        Assert.That(limits.TryAdmitEvent(3, out string? error), Is.False);
        Assert.That(error, Does.Contain("limit is 3"));
    }

    [Test]
    public void TryAdmitOutput_AtLimit_Rejected()
    {
        var limits = new ProtocolLimits { MaxOutputs = 1 };
        Assert.That(limits.TryAdmitOutput(0, out _), Is.True);
        Assert.That(limits.TryAdmitOutput(1, out string? error), Is.False);
        Assert.That(error, Does.Contain("limit is 1"));
    }

    [Test]
    public void MaxFramePayload_FrameOneByteOver_DecoderDropsIt()
    {
        var limits = new ProtocolLimits { MaxFramePayload = 300 };
        var decoder = new FrameDecoder(limits.MaxFramePayload);
        var items = new List<DecodedItem>();
        decoder.Feed(FrameCodec.Encode(FrameType.Data, 0, 0, 0, new byte[301]), items);
        decoder.Feed(FrameCodec.Encode(FrameType.Data, 0, 1, 0, new byte[300]), items);
        Assert.That(items.Select(i => i.Frame.Sequence), Is.EqualTo(new byte[] { 1 }));
        Assert.That(decoder.OversizedFrames, Is.EqualTo(1));
    }
}
